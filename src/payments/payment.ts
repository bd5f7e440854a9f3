import { ApiProperty } from '@nestjs/swagger';

export class Payment {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ example: '7c0d2f0e-1b0a-4c55-9d8e-2f1f6f9b7a10' })
  orderId: string;

  @ApiProperty({ type: 'integer', example: 2599 })
  amountCents: number;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;
}
