import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsDateString,
  IsIn,
  IsInt,
  IsNotEmptyObject,
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
import { DECLARATIVE_INDICATORS } from '@forfait/events';
import { RULESETS } from '@forfait/domain';
import { IsInstant } from '../common/validation';

export const SPECIALTIES = [...new Set(RULESETS.flatMap((r) => r.specialties.catalogue))].sort();

export class DoctorProfileDto {
  @ApiProperty({ example: 'medecine-generale', enum: SPECIALTIES }) @IsIn(SPECIALTIES, { message: 'specialty must be a slug of the catalogue' }) specialty!: string;
  @ApiProperty({ example: '441', description: '3-digit CPAM code' }) @Matches(/^\d{3}$/, { message: 'caisse is a 3-digit CPAM code' }) caisse!: string;
  @ApiProperty({ example: '44' }) @Matches(/^(0[1-9]|[1-8]\d|9[0-5]|2A|2B|97[1-6])$/, { message: 'department is a French department code (01…95, 2A, 2B, 971…976)' }) department!: string;
  @ApiPropertyOptional({ example: 2019 }) @IsOptional() @IsInt() @Min(2017) @Max(2100) firstDeclarationYear?: number;
}

export class DeclarationDto {
  @ApiProperty({ enum: DECLARATIVE_INDICATORS }) @IsIn(DECLARATIVE_INDICATORS as unknown as string[]) indicator!: string;
  @ApiProperty({ description: 'shape depends on the indicator (api.md)', example: { answer: true } }) @IsObject() @IsNotEmptyObject() value!: Record<string, unknown>;
  @ApiProperty({ description: 'attestation sur l’honneur; required true for every V2_*' }) @IsBoolean() attestation!: boolean;
  @ApiPropertyOptional({ enum: ['amelipro', 'paper', 'back-office'] }) @IsOptional() @IsIn(['amelipro', 'paper', 'back-office']) channel?: 'amelipro' | 'paper' | 'back-office';
  @ApiPropertyOptional({ description: 'agents only: when the caisse received it' }) @IsOptional() @IsInstant() effectiveAt?: string;
}

export class PaymentDto {
  @ApiProperty({ example: 814100 }) @IsInt() @Min(0) amountCents!: number;
  @ApiProperty({ example: '2024-04-15T00:00:00+02:00' }) @IsInstant() paidAt!: string;
}

// Values per indicator (api.md, "Declarations"); the domain then checks modalities and devices.
export class SegurSoftwareDto {
  @IsString() @MinLength(1) @MaxLength(200) editor!: string;
  @IsString() @MinLength(1) @MaxLength(200) name!: string;
  @IsString() @MinLength(1) @MaxLength(50) version!: string;
  @IsDateString({ strict: true }) @Matches(/^\d{4}-\d{2}-\d{2}$/, { message: 'acquiredOn is a date YYYY-MM-DD' }) acquiredOn!: string;
}
export class SegurLapValueDto {
  @ValidateNested() @Type(() => SegurSoftwareDto) segurSoftware!: SegurSoftwareDto;
  @IsBoolean() lapCertified!: boolean;
}
export class HorairesValueDto {
  @IsBoolean() displayed!: boolean;
}
export class AnswerValueDto {
  @IsBoolean() answer!: boolean;
}
export class ModalitiesValueDto {
  @IsBoolean() answer!: boolean;
  @IsArray() @ArrayMaxSize(20) @IsString({ each: true }) @MaxLength(60, { each: true }) modalities!: string[];
}
export class DevicesValueDto {
  @IsBoolean() answer!: boolean;
  @IsArray() @ArrayMaxSize(20) @IsString({ each: true }) @MaxLength(60, { each: true }) devices!: string[];
}

export const VALUE_DTO: Record<string, new () => object> = {
  V1_SEGUR_LAP: SegurLapValueDto,
  V1_HORAIRES: HorairesValueDto,
  V2_CODAGE: AnswerValueDto,
  V2_MAITRE_STAGE: AnswerValueDto,
  V2_VIDEO: AnswerValueDto,
  V2_COORDINATION: ModalitiesValueDto,
  V2_SERVICES_PATIENTS: ModalitiesValueDto,
  V2_EQUIPEMENT_CONNECTE: DevicesValueDto,
};
