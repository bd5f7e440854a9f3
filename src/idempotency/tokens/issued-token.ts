import { ApiProperty } from '@nestjs/swagger';

/** The body of `GET /tokens`. */
export class IssuedToken {
  @ApiProperty({ description: 'Send it in the Idempotency-Token header, once', pattern: '^[A-Za-z0-9._-]{22,255}$', example: 'PMBLUdYD1eoF.5CnEVMoU3kTYRI_yvqcMXQ.GANg8wG8uqcagIUFdDD-9A' })
  token: string;

  @ApiProperty({ description: 'The scope it was issued for, null when none', type: String, nullable: true, example: 'orders.create' })
  scope: string | null;

  @ApiProperty({ description: 'When it expires unused (ISO 8601)', format: 'date-time' })
  expiresAt: string;

  @ApiProperty({ description: 'Seconds until it expires unused', type: 'integer', example: 900 })
  expiresIn: number;
}
