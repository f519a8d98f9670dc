import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsBoolean, IsIn, IsInt, IsObject, IsOptional, IsString, Matches, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import { INDICATOR_CODES } from '@forfait/events';
import { IsInstant, IsRpps } from '../common/validation';

/** The batch envelope; its items are validated one by one so that a bad item does not sink the others. */
export class PrefillBatchDto {
  @ApiProperty({ enum: ['SONS', 'ANNUAIRE_SANTE'] }) @IsIn(['SONS', 'ANNUAIRE_SANTE']) source!: string;
  @ApiProperty({ type: [Object] }) @IsArray() @ArrayMinSize(1) @ArrayMaxSize(5000) @IsObject({ each: true }) items!: Record<string, unknown>[];
}

export class MeasureBatchDto {
  @ApiProperty({ example: 'SNDS' }) @IsString() @Matches(/^[A-Za-z0-9_.-]{1,40}$/) source!: string;
  @ApiProperty({ type: [Object] }) @IsArray() @ArrayMinSize(1) @ArrayMaxSize(5000) @IsObject({ each: true }) items!: Record<string, unknown>[];
}

export class PrefillItemDto {
  @IsRpps() rpps!: string;
  @IsInt() @Min(2017) @Max(2100) year!: number;
  @IsIn(['V1_SEGUR_LAP', 'V1_HORAIRES']) indicator!: string;
  @IsObject() value!: Record<string, unknown>;
  @IsOptional() @IsInstant() effectiveAt?: string;
}

class MonthDto {
  @Matches(/^\d{4}-(0[1-9]|1[0-2])$/) month!: string;
  @IsInt() @Min(0) fse!: number;
  @IsInt() @Min(0) total!: number;
}

/** Every measure shape of api.md; which fields an indicator needs is checked after. */
export class MeasureItemDto {
  @IsRpps() rpps!: string;
  @IsInt() @Min(2017) @Max(2100) year!: number;
  @IsIn(INDICATOR_CODES as unknown as string[]) indicator!: string;
  @IsOptional() @IsInt() @Min(0) numerator?: number;
  @IsOptional() @IsInt() @Min(0) denominator?: number;
  @IsOptional() @IsArray() @ArrayMaxSize(12) @ValidateNested({ each: true }) @Type(() => MonthDto) months?: MonthDto[];
  @IsOptional() @IsBoolean() teletransmittedPreviousYear?: boolean;
  @IsOptional() @Matches(/^\d{4}-\d{2}-\d{2}$/) firstFseOn?: string;
  @IsOptional() @IsBoolean() participates?: boolean;
  @IsOptional() @IsString() @MaxLength(40) effectiveAt?: string;
}
