import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsString, Length, Max, Min } from 'class-validator';

export class CreatePaymentDto {
  @ApiProperty({ minLength: 1, maxLength: 100, example: '7c0d2f0e-1b0a-4c55-9d8e-2f1f6f9b7a10' })
  @IsString()
  @Length(1, 100)
  orderId: string;

  @ApiProperty({ type: 'integer', minimum: 1, maximum: 10_000_000, example: 2599 })
  @IsInt()
  @Min(1)
  @Max(10_000_000)
  amountCents: number;
}
