/**
 * Where UPLOAD_LOCATION appears inside Immich's server container when the compose file does not
 * say: `/data` (Immich ≥ 1.133's compose file), `/usr/src/app/upload` (older ones). The paths
 * Immich stores in its database start with one of these.
 */
export const defaultUploadMounts: readonly string[] = ['/data', '/usr/src/app/upload'];
