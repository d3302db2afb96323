import { Injectable } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { DomainError } from '../../../../libs/domain/src';
import { ExportRequests } from '../../../../libs/jobs/src';
import { ExportRepository, type ExportFormat, type ExportRecord, type ExportStatus } from '../../../../libs/persistence/src';
import { ExportStore, isNotFound } from '../../../../libs/storage/src';

/** `GET /admin/exports/:id` (CONTRACT.md). */
export interface ExportView {
  id: string;
  roomId: string;
  status: ExportStatus;
  events: number;
  bytes: number;
  createdAt: string;
  finishedAt: string | null;
}

export interface ExportFile {
  roomId: string;
  stream: Readable;
  contentLength: number;
}

/** Room log exports for admins: request one, follow it, download the file. */
@Injectable()
export class ExportsService {
  constructor(
    private readonly requests: ExportRequests,
    private readonly exports: ExportRepository,
    private readonly store: ExportStore,
  ) {}

  async create(roomId: string, format: ExportFormat): Promise<{ id: string; roomId: string; status: ExportStatus }> {
    const record = await this.requests.create(roomId, format);
    return { id: record.id, roomId: record.roomId, status: record.status };
  }

  async get(id: string): Promise<ExportView> {
    return toView(await this.find(id));
  }

  /** The finished file as a stream from S3; `conflict` until the export is done. */
  async download(id: string): Promise<ExportFile> {
    const record = await this.find(id);
    if (record.status !== 'done') {
      const why = record.status === 'failed' ? `failed${record.error ? `: ${record.error}` : ''}` : `${record.status}, not done yet`;
      throw new DomainError('conflict', `export ${id} is ${why}`);
    }
    try {
      const { stream, contentLength } = await this.store.open(record.key);
      return { roomId: record.roomId, stream, contentLength };
    } catch (err) {
      if (isNotFound(err)) throw new DomainError('not_found', `the file of export ${id} is missing from storage`);
      throw new DomainError('unavailable', 'object storage is unavailable; try again');
    }
  }

  private async find(id: string): Promise<ExportRecord> {
    const record = await this.exports.get(id);
    if (!record) throw new DomainError('not_found', `no export "${id}"`);
    return record;
  }
}

function toView(r: ExportRecord): ExportView {
  return {
    id: r.id,
    roomId: r.roomId,
    status: r.status,
    events: r.events,
    bytes: r.bytes,
    createdAt: r.createdAt.toISOString(),
    finishedAt: r.finishedAt ? r.finishedAt.toISOString() : null,
  };
}
