import { IsInt, IsString, Length, Max, Min } from 'class-validator';

export class CreateOrderDto {
  @IsString()
  @Length(1, 100)
  item: string;

  @IsInt()
  @Min(1)
  @Max(1000)
  quantity: number;
}
