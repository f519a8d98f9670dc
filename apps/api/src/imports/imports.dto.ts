import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsObject, IsString, Matches } from 'class-validator';

/** The batch envelope; its items are validated one by one so that a bad item does not sink the others. */
export class PrefillBatchDto {
  @ApiProperty({ enum: ['SONS', 'ANNUAIRE_SANTE'] }) @IsIn(['SONS', 'ANNUAIRE_SANTE']) source!: string;
  @ApiProperty({ type: [Object] }) @IsArray() @ArrayMinSize(1) @ArrayMaxSize(5000) @IsObject({ each: true }) items!: Record<string, unknown>[];
}

export class MeasureBatchDto {
  @ApiProperty({ example: 'SNDS' }) @IsString() @Matches(/^[A-Za-z0-9_.-]{1,40}$/) source!: string;
  @ApiProperty({ type: [Object] }) @IsArray() @ArrayMinSize(1) @ArrayMaxSize(5000) @IsObject({ each: true }) items!: Record<string, unknown>[];
}
