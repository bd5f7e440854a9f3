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

  @ApiProperty({
    type: 'integer',
    minimum: 0,
    example: 1,
    description:
      'Confirmations sent for this order: 0 when placed, 1 once its "order placed" event was handled, never more',
  })
  confirmationsSent: number;

  @ApiPropertyOptional({ format: 'date-time', description: 'Set once the order is cancelled' })
  cancelledAt?: string;
}
