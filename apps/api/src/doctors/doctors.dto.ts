import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
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
import { DECLARATIVE_INDICATORS, LAP_CERTIFICATIONS, SEGUR_SOFTWARE_KINDS } from '@forfait/events';
import { FIRST_CAMPAIGN_YEAR, RULESETS } from '@forfait/domain';
import { HorairesValueDto, PrefilledSegurSoftwareDto } from '@forfait/application';
import { IsInstant } from '../common/validation';

export const SPECIALTIES = [...new Set(RULESETS.flatMap((r) => r.specialties.catalogue))].sort();

/** api.md: `{ status, since?, until? }`, dates inclusive. */
export class ConventionDto {
  @ApiProperty({ enum: ['conventionne', 'non-conventionne'] }) @IsIn(['conventionne', 'non-conventionne']) status!: 'conventionne' | 'non-conventionne';
  @ApiPropertyOptional({ example: '2010-09-01' })
  @IsOptional()
  @IsDateString({ strict: true })
  @Matches(/^\d{4}-\d{2}-\d{2}$/, { message: 'since is a date YYYY-MM-DD' })
  since?: string;
  @ApiPropertyOptional({ example: '2023-06-30' })
  @IsOptional()
  @IsDateString({ strict: true })
  @Matches(/^\d{4}-\d{2}-\d{2}$/, { message: 'until is a date YYYY-MM-DD' })
  until?: string;
}

export class DoctorProfileDto {
  @ApiProperty({ example: 'medecine-generale', enum: SPECIALTIES })
  @IsIn(SPECIALTIES, { message: 'specialty must be a slug of the catalogue' })
  specialty!: string;
  @ApiProperty({ example: '441', description: '3-digit CPAM code' }) @Matches(/^\d{3}$/, { message: 'caisse is a 3-digit CPAM code' }) caisse!: string;
  @ApiPropertyOptional({
    example: 'Claire Martin',
    description:
      'le nom du médecin, tel que l’écrit le référentiel de la caisse (extension d’api.md) : imprimé sur ses documents, cherché par GET /v1/doctors?q=',
    maxLength: 200,
  })
  @IsOptional()
  @IsString()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.normalize('NFC').replace(/\s+/g, ' ').trim() : value))
  @MaxLength(200, { message: 'name : 200 caractères au plus' })
  @Matches(/^\p{L}[\p{L}\p{M} .’'-]*$/u, { message: 'name : des lettres, espaces, points, apostrophes et traits d’union, en commençant par une lettre' })
  name?: string;
  @ApiProperty({ example: '44' })
  @Matches(/^(0[1-9]|[1-8]\d|9[0-5]|2A|2B|97[1-6])$/, { message: 'department is a French department code (01…95, 2A, 2B, 971…976)' })
  department!: string;
  @ApiPropertyOptional({ example: 2019, description: 'the first campaign the doctor declared in, when the caisse knows it (INT-6)' })
  @IsOptional()
  @IsInt()
  @Min(FIRST_CAMPAIGN_YEAR)
  @Max(2100)
  firstDeclarationYear?: number;
  @ApiPropertyOptional({ type: () => ConventionDto, description: 'absent: under the convention' })
  @IsOptional()
  @ValidateNested()
  @Type(() => ConventionDto)
  convention?: ConventionDto;
  @ApiPropertyOptional({ example: '2023-01-01', description: 'the date from which this profile holds' })
  @IsOptional()
  @IsDateString({ strict: true })
  @Matches(/^\d{4}-\d{2}-\d{2}$/, { message: 'effectiveFrom is a date YYYY-MM-DD' })
  effectiveFrom?: string;
}

export class DeclarationDto {
  @ApiProperty({ enum: DECLARATIVE_INDICATORS }) @IsIn(DECLARATIVE_INDICATORS) indicator!: string;
  @ApiProperty({ description: 'shape depends on the indicator (api.md)', example: { answer: true } }) @IsObject() @IsNotEmptyObject() value!: Record<
    string,
    unknown
  >;
  @ApiProperty({ description: 'attestation sur l’honneur; required true for every V2_*' }) @IsBoolean() attestation!: boolean;
  @ApiPropertyOptional({ enum: ['amelipro', 'paper', 'back-office'] }) @IsOptional() @IsIn(['amelipro', 'paper', 'back-office']) channel?:
    'amelipro' | 'paper' | 'back-office';
  @ApiPropertyOptional({ description: 'agents only: when the caisse received it' }) @IsOptional() @IsInstant() effectiveAt?: string;
  @ApiPropertyOptional({
    description: 'agents, paper forms only: the postmark (INT-8), on or before effectiveAt; it dates the form when the parameter paperDatedBy is postmark',
  })
  @IsOptional()
  @IsInstant()
  postmarkedAt?: string;
}

/**
 * The largest amount any command accepts, in cents: 10⁹ (10 M€), far above any forfait (8 141 € in
 * 2023) and well inside both a safe integer and PostgreSQL's bigint, so no stored amount can stop
 * a projection. The rules then bound a payment by the ruleset's maximum (PAYMENT_ABOVE_MAXIMUM).
 */
export const MAX_AMOUNT_CENTS = 1_000_000_000;

export class PaymentDto {
  @ApiProperty({ example: 814100, minimum: 1, maximum: MAX_AMOUNT_CENTS }) @IsInt() @Min(1) @Max(MAX_AMOUNT_CENTS) amountCents!: number;
  @ApiProperty({ example: '2024-04-15T00:00:00+02:00' }) @IsInstant() paidAt!: string;
  @ApiPropertyOptional({ example: 'VIR-2024-04-15-000123', description: 'the payer’s reference, unique per doctor-year (409 PAYMENT_DUPLICATE)' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,79}$/, { message: 'reference is 1 to 80 letters, digits, . _ : / -' })
  reference?: string;
}

// Values per indicator (api.md, "Declarations"); the domain then checks modalities and devices.
export class SegurSoftwareDto extends PrefilledSegurSoftwareDto {
  @ApiPropertyOptional({ enum: SEGUR_SOFTWARE_KINDS, description: 'DPI_ETABLISSEMENT: the establishment’s referenced DPI (rule 5); default cabinet' })
  @IsOptional()
  @IsIn(SEGUR_SOFTWARE_KINDS)
  kind?: string;
}
/** The LAP the doctor declares (rule 2). */
export class LapDto {
  @IsString() @MinLength(1) @MaxLength(200) editor!: string;
  @IsString() @MinLength(1) @MaxLength(200) name!: string;
  @IsOptional() @IsString() @MinLength(1) @MaxLength(50) version?: string;
  @ApiProperty({ enum: LAP_CERTIFICATIONS }) @IsIn(LAP_CERTIFICATIONS) certification!: string;
}
export class SegurLapValueDto {
  @ValidateNested() @Type(() => SegurSoftwareDto) segurSoftware!: SegurSoftwareDto;
  @IsBoolean() lapCertified!: boolean;
  @ApiPropertyOptional({
    type: LapDto,
    description: 'the LAP declared; absent when lapCertified is false (lapCertified true without it: a LAP declared unnamed)',
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => LapDto)
  lap?: LapDto;
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
