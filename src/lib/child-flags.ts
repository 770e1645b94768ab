/**
 * Node options of lvsd's child processes (the VRRP and director processes, the checker).
 *
 * `--max-semi-space-size=4` caps V8's young generation at 4 MB a half (Node 20 lets it
 * grow to 16): lvsd's processes keep little, so a smaller nursery costs no measurable CPU
 * and keeps each process's peak RSS about 18 MB lower (1,000 VRRP instances receiving
 * 1,000 adverts/s in one process: 93 → 75 MB, CPU 0.042 → 0.041 s/s).
 */
export function childExecArgv(): string[] {
  return [...process.execArgv.filter((a) => !a.startsWith('--max-semi-space-size')), '--max-semi-space-size=4'];
}
