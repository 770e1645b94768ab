/**
 * Errors of the VM test bed. One class, a stable `code` per failure, and a message that says
 * why and carries the tail of the serial console when there is one: a VM that cannot boot
 * must fail the test loudly, never pass silently.
 */

/** Every way the VM test bed can fail, by stable code. */
export const VmErrorCode = {
  /** A required host tool is missing and apt-get could not install it. */
  ToolMissing: 'VM_TOOL_MISSING',
  /** The Debian kernel could not be found, downloaded or unpacked. */
  KernelUnavailable: 'VM_KERNEL_UNAVAILABLE',
  /** Building the initramfs failed (a module missing, cpio or gzip failed). */
  InitramfsFailed: 'VM_INITRAMFS_FAILED',
  /** The options given to runInVm are unusable (script missing, under /tmp, bad env name). */
  BadOptions: 'VM_BAD_OPTIONS',
  /** qemu could not be started. */
  SpawnFailed: 'VM_SPAWN_FAILED',
  /** The hard timeout expired; qemu was killed. */
  Timeout: 'VM_TIMEOUT',
  /** The guest's init reported an error (9p or overlay mount, missing run script). */
  InitFailed: 'VM_INIT_FAILED',
  /** qemu exited without the guest ever starting the script. */
  NoBoot: 'VM_NO_BOOT',
  /** The script started but qemu exited without the exit-status marker line. */
  NoExitMarker: 'VM_NO_EXIT_MARKER',
} as const;

/** Union of the codes in {@link VmErrorCode}. */
export type VmErrorCode = (typeof VmErrorCode)[keyof typeof VmErrorCode];

/** How many console lines an error message carries. */
export const CONSOLE_TAIL_LINES = 40;

/** Last `lines` lines of a console transcript, for error messages. */
export function consoleTail(console: string, lines = CONSOLE_TAIL_LINES): string {
  const all = console.replace(/\r/g, '').split('\n');
  return all.slice(-lines).join('\n');
}

/**
 * A failure of the VM test bed. `code` is stable; `console` is the whole serial console
 * transcript seen so far ('' when qemu never ran); the message ends with its tail.
 */
export class VmError extends Error {
  /** Stable identifier of the failure. */
  readonly code: VmErrorCode;
  /** Whole serial console transcript seen before the failure. */
  readonly console: string;

  /** Builds the error; `why` is the first line, the console tail is appended when non-empty. */
  constructor(code: VmErrorCode, why: string, console = '') {
    super(console.trim() === '' ? why : `${why}\n--- last console lines ---\n${consoleTail(console)}`);
    this.name = 'VmError';
    this.code = code;
    this.console = console;
  }
}
