import { z } from 'zod';
import { absolutePath } from './schema-fields.js';

/**
 * `metrics`: the Prometheus text file (docs/metrics.md). Off unless a path is given: the agent
 * must not create a node_exporter folder on a machine that has none.
 */
export const metricsSection = z
  .strictObject({
    textfile: absolutePath
      .refine((value) => value.endsWith('.prom') && !value.endsWith('/.prom'), {
        message: 'must name a file ending in .prom (node_exporter reads only those)',
      })
      .nullable()
      .default(null)
      .describe(
        "Prometheus metrics file, rewritten after every run and at daemon start, for node_exporter's textfile collector (e.g. /var/lib/prometheus/node-exporter/immich_backup.prom); null = off.",
      ),
  })
  .prefault({});
