import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsObject, IsOptional, IsString, Max, MaxLength, Min, MinLength } from 'class-validator';
import { INDICATOR_CODES } from '@forfait/events';
import { IsInstant, IsRpps } from '../common/validation';
import { FIRST_CAMPAIGN_YEAR } from '@forfait/domain';

export class OpenCampaignDto {
  @ApiProperty({ example: 2023 }) @IsInt() @Min(FIRST_CAMPAIGN_YEAR) @Max(2100) year!: number;
  @ApiProperty({ example: 'FS-2023' }) @IsString() @MaxLength(40) ruleset!: string;
  @ApiPropertyOptional({ example: '1' }) @IsOptional() @IsString() @MaxLength(20) rulesetVersion?: string;
  @ApiProperty({ example: '2023-12-11T00:00:00+01:00' }) @IsInstant() opensAt!: string;
  @ApiProperty({ example: '2024-02-04T23:59:59.999+01:00' }) @IsInstant() closesAt!: string;
}

export class ExtendDeadlineDto {
  @ApiProperty({ example: '2024-02-11T23:59:59.999+01:00' }) @IsInstant() closesAt!: string;
  @ApiProperty({ example: 'Prolongation de la campagne' }) @IsString() @MinLength(1) @MaxLength(500) reason!: string;
  @ApiPropertyOptional({ example: 'ameli.fr, actualité du 11/12/2023' }) @IsOptional() @IsString() @MaxLength(500) reference?: string;
}

/**
 * `changes` is one of three shapes (api.md): `{ target?, points?, neutralised? }` with an indicator,
 * `{ list, add?, remove? }` or `{ parameter, value }` without; the rules check names, entries and
 * values (422 AMENDMENT_INVALID), so that every refusal of an amendment has one code.
 */
export class AmendRuleDto {
  @ApiPropertyOptional({ enum: INDICATOR_CODES, description: 'for target, points, neutralised; absent for a list or a parameter' })
  @IsOptional()
  @IsIn(INDICATOR_CODES)
  indicator?: string;
  @ApiProperty({
    description: '{ target?, points?, neutralised? } | { list, add?, remove? } | { parameter, value } (rules spec, "Parameters and lists a caisse can amend")',
    example: { list: 'sasDepartements', add: ['44', '2A'] },
  })
  @IsObject()
  changes!: Record<string, unknown>;
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(500) reason!: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(500) reference?: string;
}

export class CalculationDto {
  @ApiPropertyOptional({ description: 'one doctor; all doctors of the campaign when absent' }) @IsOptional() @IsRpps() rpps?: string;
}
