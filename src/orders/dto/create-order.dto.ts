import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsString, Length, Max, Min } from 'class-validator';

export class CreateOrderDto {
  @ApiProperty({ minLength: 1, maxLength: 100, example: 'book' })
  @IsString()
  @Length(1, 100)
  item: string;

  @ApiProperty({ type: 'integer', minimum: 1, maximum: 1000, example: 2 })
  @IsInt()
  @Min(1)
  @Max(1000)
  quantity: number;
}
