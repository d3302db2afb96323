import type { ExportInfo } from '../api';
import { downloadFileName, ExportList, exportProgressText, isFinished } from './export-model';

const info = (over: Partial<ExportInfo> = {}): ExportInfo => ({ id: 'e1', roomId: 'r1', status: 'queued', ...over });

describe('exportProgressText', () => {
  it.each([
    [info(), 'queued: waiting for a worker'],
    [info({ status: 'running', events: 1200, bytes: 98_304 }), 'running: 1,200 events, 96 KiB so far'],
    [info({ status: 'running' }), 'running: 0 events, 0 B so far'],
    [info({ status: 'done', events: 1, bytes: 300 }), 'done: 1 event, 300 B'],
    [info({ status: 'failed', events: 10, bytes: 10 }), 'failed: see the worker logs, then start it again'],
  ])('%j → %s', (value, text) => {
    expect(exportProgressText(value)).toBe(text);
  });
});

describe('isFinished', () => {
  it('is true for done and failed only', () => {
    expect(['queued', 'running', 'done', 'failed'].map((s) => isFinished(s as ExportInfo['status']))).toEqual([false, false, true, true]);
  });
});

describe('downloadFileName', () => {
  it('names the file after the room and the export', () => {
    expect(downloadFileName('3f1c2b9a-8d7e', 'a1b2')).toBe('room-3f1c2b9a-8d7e-a1b2.ndjson.gz');
  });
  it('keeps path separators and spaces out of the name', () => {
    expect(downloadFileName('../x y', 'e/1')).toBe('room-.._x_y-e_1.ndjson.gz');
  });
});

describe('ExportList', () => {
  it('lists the newest first and polls only unfinished exports', () => {
    const list = new ExportList();
    list.add(info({ id: 'a' }), 'Room A');
    list.add(info({ id: 'b' }), 'Room B');
    expect(list.all.map((e) => e.info.id)).toEqual(['b', 'a']);
    expect(list.pending()).toEqual(['b', 'a']);
    list.update(info({ id: 'a', status: 'done', events: 3, bytes: 100 }));
    expect(list.pending()).toEqual(['b']);
  });

  it('reports a change only when the state moved, and never undoes done', () => {
    const list = new ExportList();
    list.add(info({ id: 'a' }), 'Room A');
    expect(list.update(info({ id: 'a' }))).toBeNull();
    expect(list.update(info({ id: 'a', status: 'running', events: 5 }))?.info.events).toBe(5);
    expect(list.update(info({ id: 'a', status: 'done', events: 9, bytes: 1 }))?.info.status).toBe('done');
    expect(list.update(info({ id: 'a', status: 'running', events: 7 }))).toBeNull();
    expect(list.all[0]!.info).toMatchObject({ status: 'done', events: 9 });
    expect(list.update(info({ id: 'unknown', status: 'done' }))).toBeNull();
  });

  it('adding a known id updates it instead of listing it twice', () => {
    const list = new ExportList();
    list.add(info({ id: 'a' }), 'Room A');
    list.add(info({ id: 'a', status: 'running' }), 'Room A');
    expect(list.all).toHaveLength(1);
    expect(list.all[0]!.info.status).toBe('running');
  });
});
