import { Body, Controller, Get, HttpCode, Logger, Param, Post, Res, UseGuards } from '@nestjs/common';
import { pipeline } from 'node:stream';
import type { Response } from 'express';
import { parseOrThrow } from '../../../../libs/domain/src';
import { exportRequestSchema } from '../../../../libs/jobs/src';
import { AdminGuard, AuthGuard } from '../common/auth.guard';
import { ExportsService } from './exports.service';

/** Room log exports (CONTRACT.md "HTTP API"); admin role only, like every /admin route. */
@Controller('admin')
@UseGuards(AuthGuard, AdminGuard)
export class ExportsController {
  private readonly logger = new Logger(ExportsController.name);

  constructor(private readonly exports: ExportsService) {}

  @Post('rooms/:roomId/exports')
  @HttpCode(202)
  async create(@Param('roomId') roomId: string, @Body() body: unknown) {
    const { format } = parseOrThrow(exportRequestSchema, body);
    return { export: await this.exports.create(roomId, format) };
  }

  @Get('exports/:id')
  async get(@Param('id') id: string) {
    return { export: await this.exports.get(id) };
  }

  /** Streams the object from S3 as it arrives; a broken transfer ends the response early. */
  @Get('exports/:id/download')
  async download(@Param('id') id: string, @Res() res: Response): Promise<void> {
    const file = await this.exports.download(id);
    res.status(200);
    res.setHeader('Content-Type', 'application/gzip');
    res.setHeader('Content-Length', String(file.contentLength));
    res.setHeader('Content-Disposition', `attachment; filename="room-${file.roomId}.ndjson.gz"`);
    res.setHeader('Cache-Control', 'no-store');
    pipeline(file.stream, res, (err) => {
      if (err) this.logger.warn(`download of export ${id} ended early: ${err.message}`);
    });
  }
}
