/** Peak resident memory split as Linux reports it: anonymous (heap, buffers) vs file-backed (LMDB map). */
import { readFileSync } from 'node:fs';

export interface RssSample {
  rssAnonMB: number;
  rssFileMB: number;
  /** V8 heap and off-heap buffers at the moment of peak RssAnon: where the anonymous memory went. */
  heapTotalMB?: number;
  externalMB?: number;
}

function read(pid: number | 'self' = 'self'): RssSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rssAnonMB: kb('RssAnon') / 1024, rssFileMB: kb('RssFile') / 1024 };
}

/** Samples every `intervalMs` and keeps the peak of each part. */
export function trackPeakRss(intervalMs = 25): { stop(): RssSample } {
  const peak = read();
  const timer = setInterval(() => {
    const now = read();
    if (now.rssAnonMB > peak.rssAnonMB) {
      const usage = process.memoryUsage();
      peak.heapTotalMB = Math.round(usage.heapTotal / 1e5) / 10;
      peak.externalMB = Math.round(usage.external / 1e5) / 10;
    }
    peak.rssAnonMB = Math.max(peak.rssAnonMB, now.rssAnonMB);
    peak.rssFileMB = Math.max(peak.rssFileMB, now.rssFileMB);
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      const now = read();
      return {
        ...peak,
        rssAnonMB: Math.round(Math.max(peak.rssAnonMB, now.rssAnonMB) * 10) / 10,
        rssFileMB: Math.round(Math.max(peak.rssFileMB, now.rssFileMB) * 10) / 10,
      };
    },
  };
}

/** Peak RssAnon/RssFile of another process (the Weir under benchmark), sampled every `intervalMs`. */
export function trackPeakRssOf(pid: number, intervalMs = 25): { stop(): RssSample } {
  const peak: RssSample = { rssAnonMB: 0, rssFileMB: 0 };
  const sample = () => {
    try {
      const now = read(pid);
      peak.rssAnonMB = Math.max(peak.rssAnonMB, now.rssAnonMB);
      peak.rssFileMB = Math.max(peak.rssFileMB, now.rssFileMB);
    } catch {
      // the process has gone
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { rssAnonMB: Math.round(peak.rssAnonMB * 10) / 10, rssFileMB: Math.round(peak.rssFileMB * 10) / 10 };
    },
  };
}
