import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsDateString,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { AUTOMATED_INDICATORS } from '@forfait/events';
import { FIRST_CAMPAIGN_YEAR } from '@forfait/domain';
import { IsInstant, IsRpps } from '../validation';

/** The items of an import batch (api.md, "Imports"), each validated on its own so that a bad item does not sink the others. */
export class PrefillItemDto {
  @IsRpps() rpps!: string;
  @IsInt() @Min(FIRST_CAMPAIGN_YEAR) @Max(2100) year!: number;
  @IsIn(['V1_SEGUR_LAP', 'V1_HORAIRES']) indicator!: string;
  @IsObject() value!: Record<string, unknown>;
  @IsOptional() @IsInstant() effectiveAt?: string;
}

/** Counts are safe integers (api.md): 2^53 + 1 would be stored as 2^53, and 1e20 passes `IsInt`. */
const MAX_COUNT = Number.MAX_SAFE_INTEGER;

class MonthDto {
  @Matches(/^\d{4}-(0[1-9]|1[0-2])$/) month!: string;
  @IsInt() @Min(0) @Max(MAX_COUNT) fse!: number;
  @IsInt() @Min(0) @Max(MAX_COUNT) total!: number;
}

/** Every measure shape of api.md; which fields an indicator needs is checked after. */
export class MeasureItemDto {
  @IsRpps() rpps!: string;
  @IsInt() @Min(FIRST_CAMPAIGN_YEAR) @Max(2100) year!: number;
  @IsIn(AUTOMATED_INDICATORS, { message: 'indicator must be an automated indicator (a declarative one is declared, not measured)' }) indicator!: string;
  @IsOptional() @IsInt() @Min(0) @Max(MAX_COUNT) numerator?: number;
  @IsOptional() @IsInt() @Min(0) @Max(MAX_COUNT) denominator?: number;
  @IsOptional() @IsArray() @ArrayMaxSize(12) @ValidateNested({ each: true }) @Type(() => MonthDto) months?: MonthDto[];
  @IsOptional() @IsBoolean() teletransmittedPreviousYear?: boolean;
  @IsOptional() @Matches(/^\d{4}-\d{2}-\d{2}$/) firstFseOn?: string;
  @IsOptional() @IsBoolean() participates?: boolean;
  @IsOptional() @IsString() @MaxLength(40) effectiveAt?: string;
}

/** The software as SONS pre-fills it (never a DPI: guide §I.1.c NB). */
export class PrefilledSegurSoftwareDto {
  @IsString() @MinLength(1) @MaxLength(200) editor!: string;
  @IsString() @MinLength(1) @MaxLength(200) name!: string;
  @IsString() @MinLength(1) @MaxLength(50) version!: string;
  @IsDateString({ strict: true }) @Matches(/^\d{4}-\d{2}-\d{2}$/, { message: 'acquiredOn is a date YYYY-MM-DD' }) acquiredOn!: string;
}
/** SONS pre-fills the software only; a `lapCertified` sent with it is accepted and ignored (api.md, the one unknown field accepted). */
export class SegurPrefillValueDto {
  @ValidateNested() @Type(() => PrefilledSegurSoftwareDto) segurSoftware!: PrefilledSegurSoftwareDto;
  @IsOptional() @IsBoolean() lapCertified?: boolean;
}
export class HorairesValueDto {
  @IsBoolean() displayed!: boolean;
}
/** Pre-fill values (api.md, "Imports"). */
export const PREFILL_VALUE_DTO: Record<string, new () => object> = {
  V1_SEGUR_LAP: SegurPrefillValueDto,
  V1_HORAIRES: HorairesValueDto,
};
