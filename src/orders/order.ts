import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class Order {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'book' })
  item: string;

  @ApiProperty({ type: 'integer', example: 2 })
  quantity: number;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Set once the order is cancelled' })
  cancelledAt?: string;
}
