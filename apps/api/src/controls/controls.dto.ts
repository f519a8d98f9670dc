import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsBoolean, IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min, MinLength } from 'class-validator';
import { INDICATOR_CODES } from '@forfait/events';
import { IsInstant, IsRpps } from '../common/validation';
import { FIRST_CAMPAIGN_YEAR } from '@forfait/domain';

const CODES = INDICATOR_CODES as unknown as string[];

export class OpenControlDto {
  @ApiProperty() @IsRpps() rpps!: string;
  @ApiProperty({ example: 2023 }) @IsInt() @Min(FIRST_CAMPAIGN_YEAR) @Max(2100) year!: number;
  @ApiProperty({ enum: INDICATOR_CODES, isArray: true }) @IsArray() @ArrayMinSize(1) @ArrayMaxSize(21) @IsIn(CODES, { each: true }) indicators!: string[];
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(1000) reason!: string;
  @ApiPropertyOptional({ description: 'suspected fraud: the 3-year limit does not apply' }) @IsOptional() @IsBoolean() fraud?: boolean;
}

export class EvidenceRequestDto {
  @ApiProperty({ example: ['liste des étudiants accueillis et dates des stages'] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MaxLength(500, { each: true })
  items!: string[];
  @ApiProperty({ example: '2024-10-15T00:00:00+02:00' }) @IsInstant() dueAt!: string;
}

export class FindingDto {
  @ApiProperty({ enum: INDICATOR_CODES }) @IsIn(CODES) indicator!: string;
  @ApiProperty({ enum: ['confirmed', 'invalidated'] }) @IsIn(['confirmed', 'invalidated']) outcome!: 'confirmed' | 'invalidated';
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(1000) reason!: string;
}

export class ContestationDto {
  @ApiProperty() @IsString() @MinLength(1) @MaxLength(2000) reason!: string;
}

export class ContestationDecisionDto {
  @ApiProperty({ enum: ['upheld', 'reversed'] }) @IsIn(['upheld', 'reversed']) outcome!: 'upheld' | 'reversed';
  @ApiPropertyOptional({ enum: INDICATOR_CODES, isArray: true, description: 'reversed: which findings (all invalidated ones when absent)' })
  @IsOptional()
  @IsArray()
  @IsIn(CODES, { each: true })
  indicators?: string[];
  @ApiPropertyOptional({ description: 'why the caisse decided so (kept with the decision; the console requires it)', maxLength: 2000 })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  reason?: string;
}
