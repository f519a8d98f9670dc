import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsNumber, IsOptional, IsString, Max, MaxLength, Min, MinLength, ValidateNested } from 'class-validator';
import { INDICATOR_CODES } from '@forfait/events';
import { IsInstant, IsRpps } from '../common/validation';

export class OpenCampaignDto {
  @ApiProperty({ example: 2023 }) @IsInt() @Min(2017) @Max(2100) year!: number;
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

export class RuleChangesDto {
  @ApiPropertyOptional({ description: 'rate target in percent', example: 10 }) @IsOptional() @IsNumber() @Min(0) @Max(100) target?: number;
  @ApiPropertyOptional({ example: 48 }) @IsOptional() @IsNumber() @Min(0) @Max(10000) points?: number;
  @ApiPropertyOptional({ description: 'deemed met', example: true }) @IsOptional() @IsBoolean() neutralised?: boolean;
}

export class AmendRuleDto {
  @ApiProperty({ enum: INDICATOR_CODES }) @IsIn(INDICATOR_CODES as unknown as string[]) indicator!: string;
  @ApiProperty({ type: RuleChangesDto }) @ValidateNested() @Type(() => RuleChangesDto) changes!: RuleChangesDto;
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(500) reason!: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(500) reference?: string;
}

export class CalculationDto {
  @ApiPropertyOptional({ description: 'one doctor; all doctors of the campaign when absent' }) @IsOptional() @IsRpps() rpps?: string;
}
