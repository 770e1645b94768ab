/**
 * Stand-in child for test/main/log-order.test.ts: logs one line, tells the
 * parent through lvsd's child IPC path, then stays busy in the same turn (as a
 * director does after its first pass), so a line still queued for the end of
 * the turn reaches stdout only after the parent has reacted to the message.
 */
import { sendToParent } from '../../src/main/child';
import { createLogger } from '../../src/log';

const log = createLogger({ level: 'info' });
log.info('child line before ready');
sendToParent({ kind: 'ready' });
const until = Date.now() + 300;
while (Date.now() < until) {
  /* busy: the turn goes on */
}
process.disconnect?.();
