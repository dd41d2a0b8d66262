import { createHash } from 'node:crypto';
import { md5Uuid, originalContent, sha1Hex } from './immich-originals.js';

/**
 * Text that breaks dumps and the scripts around them, as an SQL expression: both quotes,
 * backslashes (a Windows path), CR/LF, a line that is exactly `\.` (the end of COPY data), `\N`
 * (COPY's NULL), a tab, emoji and other non-ASCII.
 */
const awkwardText = String.raw`'Grandma''s "best" day \ C:\Photos\2024\' || chr(13) || chr(10) || 'the next line is COPY''s end marker:' || chr(10) || '\.' || chr(10) || '\N is not NULL' || chr(9) || 'tab, 📷🏖️, Ünïcödé, 中文, עברית'`;

/**
 * An album description holding, on a line of its own, the line pg_dump writes at the top of every
 * dump and Immich's restore instructions rewrite with sed: only the dump's own line may change.
 */
export const searchPathLine = "SELECT pg_catalog.set_config('search_path', '', false);";
const searchPathText = `'Summer 2024 at the lake' || chr(10) || '${searchPathLine.replaceAll("'", "''")}' || chr(10) || 'the line above is pg_dump''s own'`;

/** A deterministic 512-dimension embedding (CLIP and face vectors in Immich have 512). */
const embedding = (seed: string, step: number): string =>
  `(SELECT array_agg(sin(${seed} * ${step} + i * 0.37)::real ORDER BY i) FROM generate_series(1, 512) AS i)::vector`;

/**
 * Rows for Immich's real schema (v2.7.5), `assets` of them in `asset` with what hangs off an asset
 * in Immich: EXIF with GPS and descriptions, thumbnail/preview/video/sidecar files, albums shared
 * with users, persons with faces, CLIP and face embeddings (a subset, so HNSW stays quick), tags
 * with their closure, memories, shared links, an external library, a stack, live photos, trash,
 * and the audit rows Immich's delete triggers write. Ids are derived from names (md5), so they are
 * the same in every bed. Checksums are SHA-1s like Immich's, of the content the bed writes for
 * each original (immich-originals.ts; `sha1-path` ones of the path), computed here because
 * PostgreSQL has no sha1() without pgcrypto.
 */
export function immichRows(assets: number): string {
  const total = assets + 2; // two more, deleted at the end so the audit tables have rows
  const sha1 = (text: string): string => createHash('sha1').update(text).digest('hex');
  const checksums = Array.from({ length: total }, (_, index) => {
    const g = index + 1;
    return external(g)
      ? sha1(`path:${externalPath(g)}`)
      : sha1Hex(originalContent(md5Uuid(`asset:${g}`)));
  });
  return `
SET TimeZone = 'UTC';
CREATE TEMP TABLE seed_user (n int PRIMARY KEY, id uuid NOT NULL, label text NOT NULL) ON COMMIT DROP;
INSERT INTO seed_user VALUES
  (0, md5('user:admin')::uuid, 'admin'),
  (1, '3f1c9a7e-1111-4222-8333-444455556666', '3f1c9a7e-1111-4222-8333-444455556666'),
  (2, md5('user:kid')::uuid, md5('user:kid')::uuid::text);

INSERT INTO "user" (id, email, name, password, "isAdmin", "shouldChangePassword", "storageLabel",
  "profileImagePath", "quotaSizeInBytes", "quotaUsageInBytes", "avatarColor", "oauthId", status,
  "deletedAt", "createdAt", "updatedAt", "profileChangedAt", "pinCode")
SELECT coalesce(u.id, md5('user:gone')::uuid), v.email, v.name, '$2b$10$' || md5(v.email) || 'abcdefghijklmnopqrstu', v.n = 0, false,
  CASE WHEN v.n = 0 THEN 'admin' END,
  CASE WHEN v.n = 0 THEN '/data/profile/' || u.id || '/' || md5('profile:admin')::uuid || '.jpg' ELSE '' END,
  CASE WHEN v.n = 1 THEN 53687091200 END, 1234567 * (v.n + 1), v.color, v.oauth, v.status,
  CASE WHEN v.status = 'deleted' THEN timestamptz '2024-05-01 12:00+00' END,
  timestamptz '2023-12-24 18:00+00' + v.n * interval '1 day',
  timestamptz '2024-01-02 09:00+00', timestamptz '2024-01-02 09:00+00', NULL
FROM (VALUES
  (0, 'gonzalo@example.com', 'Gonzalo', 'primary', '', 'active'),
  (1, 'ana@example.com', 'Ána O''Brien "the best"', 'pink', '', 'active'),
  (2, 'kid@example.com', 'Kid' || chr(10) || 'with newline 📷', NULL, 'oidc|1234', 'active'),
  (3, 'gone@example.com', 'Left in 2024', 'gray', '', 'deleted')) AS v(n, email, name, color, oauth, status)
LEFT JOIN seed_user u ON u.n = v.n;

INSERT INTO library (id, name, "ownerId", "importPaths", "exclusionPatterns", "createdAt", "updatedAt", "refreshedAt")
SELECT md5('library:nas')::uuid, 'NAS Fotos 📷 "Família"', id, ARRAY['/mnt/external/Photos 2019', '/mnt/nas/Família'],
  ARRAY['**/@eaDir/**', '**/._*'], timestamptz '2024-01-03 10:00+00', timestamptz '2024-01-03 10:00+00', timestamptz '2024-06-30 03:00+00'
FROM seed_user WHERE n = 0;

-- One row per asset with everything the other tables derive from it. Ten consecutive assets
-- share an owner (a live photo's image and video have the same one).
CREATE TEMP TABLE seed_asset ON COMMIT DROP AS
SELECT g, md5('asset:' || g)::uuid AS id, u.id AS owner, u.n AS owner_n, u.label,
  timestamptz '2024-01-01 08:00+00' + g * interval '97 minutes' AS created,
  g % 10 = 0 AS video, g % 150 = 1 AS external,
  CASE WHEN g % 10 = 0 THEN 'VID_' || g || '.mp4'
       WHEN g % 23 = 0 THEN 'Photo "' || g || '" O''Brien ü 📷.heic'
       ELSE 'IMG_' || lpad(g::text, 4, '0') || '.jpg' END AS file_name,
  decode(checksums.hex, 'hex') AS checksum
FROM unnest('{${checksums.join(',')}}'::text[]) WITH ORDINALITY AS checksums(hex, g)
JOIN seed_user u ON u.n = ((g - 1) / 10) % 3;

INSERT INTO asset (id, "deviceAssetId", "ownerId", "deviceId", type, "originalPath", "originalFileName",
  checksum, "checksumAlgorithm", "fileCreatedAt", "fileModifiedAt", "localDateTime", "isFavorite",
  duration, thumbhash, visibility, width, height, status, "deletedAt", "libraryId", "isExternal",
  "isOffline", "duplicateId", "createdAt", "updatedAt")
SELECT id, CASE WHEN external THEN 'DSC_' || g ELSE file_name || '-' || (1000 + g) END, owner,
  CASE WHEN external THEN 'Library Import' WHEN owner_n = 0 THEN 'iPhone 15 Pro' WHEN owner_n = 1 THEN 'Pixel 8' ELSE 'WEB' END,
  CASE WHEN video THEN 'VIDEO' ELSE 'IMAGE' END,
  CASE WHEN external THEN '/mnt/external/Photos 2019/Trip ' || g || '/DSC_' || g || '.JPG'
       WHEN owner_n = 2 THEN '/data/upload/' || owner || '/' || substr(id::text, 1, 2) || '/' || substr(id::text, 3, 2) || '/' || id || CASE WHEN video THEN '.mp4' ELSE '.jpg' END
       ELSE '/data/library/' || label || '/' || to_char(created, 'YYYY') || '/' || to_char(created, 'YYYY-MM-DD') || '/' || file_name END,
  CASE WHEN external THEN 'DSC_' || g || '.JPG' ELSE file_name END,
  checksum, (CASE WHEN external THEN 'sha1-path' ELSE 'sha1' END)::asset_checksum_algorithm_enum,
  created, created + interval '5 seconds', created + interval '2 hours', g % 17 = 0,
  CASE WHEN video THEN '00:00:' || lpad((g % 60)::text, 2, '0') || '.480' END,
  decode(substr(md5('thumbhash:' || g), 1, 26), 'hex'),
  (CASE WHEN g % 50 = 10 THEN 'hidden' WHEN g % 61 = 0 THEN 'archive' WHEN g % 89 = 0 THEN 'locked' ELSE 'timeline' END)::asset_visibility_enum,
  CASE WHEN video THEN 1920 ELSE 4032 END, CASE WHEN video THEN 1080 ELSE 3024 END,
  (CASE WHEN g % 97 = 0 OR g = 1 THEN 'trashed' ELSE 'active' END)::assets_status_enum,
  CASE WHEN g % 97 = 0 OR g = 1 THEN created + interval '30 days' END,
  CASE WHEN external THEN md5('library:nas')::uuid END, external, g = 1,
  CASE WHEN g IN (5, 6) THEN md5('duplicate:1')::uuid END,
  created + interval '1 day', created + interval '1 day'
FROM seed_asset;

-- Live photos: the image points to its video (hidden from the timeline, above).
UPDATE asset SET "livePhotoVideoId" = md5('asset:' || (s.g + 1))::uuid
FROM seed_asset s WHERE asset.id = s.id AND s.g % 50 = 9 AND s.g < ${total};
-- A stack of three (assets 2 to 4; a stack's primary asset cannot be deleted, so none when the
-- two deleted below would be among them).
INSERT INTO stack (id, "primaryAssetId", "ownerId") SELECT md5('stack:1')::uuid, id, owner FROM seed_asset WHERE g = 2 AND ${assets} >= 4;
UPDATE asset SET "stackId" = stack.id FROM stack WHERE asset.id IN (md5('asset:2')::uuid, md5('asset:3')::uuid, md5('asset:4')::uuid);

INSERT INTO asset_exif ("assetId", make, model, "exifImageWidth", "exifImageHeight", "fileSizeInByte",
  orientation, "dateTimeOriginal", "modifyDate", "lensModel", "fNumber", "focalLength", iso, latitude,
  longitude, city, state, country, description, fps, "exposureTime", "timeZone", "profileDescription",
  colorspace, "bitsPerSample", rating, tags, "lockedProperties")
SELECT id, CASE owner_n WHEN 0 THEN 'Apple' WHEN 1 THEN 'Google' ELSE NULL END,
  CASE owner_n WHEN 0 THEN 'iPhone 15 Pro' WHEN 1 THEN 'Pixel 8' ELSE NULL END,
  CASE WHEN video THEN 1920 ELSE 4032 END, CASE WHEN video THEN 1080 ELSE 3024 END,
  1500000 + g * 1234, CASE WHEN g % 4 = 0 THEN '6' ELSE '1' END, created, created + interval '5 seconds',
  CASE WHEN owner_n = 0 THEN 'iPhone 15 Pro back triple camera 6.765mm f/1.78' END,
  CASE WHEN owner_n = 2 THEN NULL ELSE 1.78 END, 6.765, 50 + g % 800,
  CASE WHEN g % 3 <> 2 THEN 48.137154 + (g % 100) * 0.0012345 END,
  CASE WHEN g % 3 <> 2 THEN 11.576124 - (g % 100) * 0.0023456 END,
  CASE WHEN g % 3 <> 2 THEN (ARRAY['München', 'São Paulo', 'Zürich', 'Kraków', 'Reykjavík'])[g % 5 + 1] END,
  CASE WHEN g % 3 <> 2 THEN (ARRAY['Bayern', 'São Paulo', 'Zürich', 'Małopolskie', NULL])[g % 5 + 1] END,
  CASE WHEN g % 3 <> 2 THEN (ARRAY['Germany', 'Brazil', 'Switzerland', 'Poland', 'Iceland'])[g % 5 + 1] END,
  CASE WHEN g % 50 = 3 THEN ${awkwardText} WHEN g % 7 = 0 THEN 'Sunset at the beach 🌅' ELSE '' END,
  CASE WHEN video THEN 29.97 END, CASE WHEN video THEN NULL ELSE '1/' || (60 + g % 2000) END,
  'Europe/Berlin', 'Display P3', 'RGB', 8, CASE WHEN g % 9 = 0 THEN g % 6 END,
  CASE WHEN g % 7 = 0 THEN ARRAY['Holiday/Italy 🇮🇹/Rome'] END,
  CASE WHEN g % 50 = 3 THEN ARRAY['description'] END
FROM seed_asset;

INSERT INTO asset_job_status ("assetId", "metadataExtractedAt", "facesRecognizedAt", "duplicatesDetectedAt", "ocrAt")
SELECT id, created + interval '1 day', CASE WHEN NOT video THEN created + interval '1 day' END, created + interval '2 days', NULL FROM seed_asset;

INSERT INTO asset_file (id, "assetId", type, path, "createdAt", "updatedAt")
SELECT md5('file:' || f.type || ':' || s.g)::uuid, s.id, f.type,
  CASE WHEN f.type = 'sidecar' THEN a."originalPath" || '.xmp'
       ELSE '/data/' || f.folder || '/' || s.owner || '/' || substr(s.id::text, 1, 2) || '/' || substr(s.id::text, 3, 2) || '/' || s.id || f.suffix END,
  s.created + interval '1 day', s.created + interval '1 day'
FROM seed_asset s JOIN asset a ON a.id = s.id
CROSS JOIN (VALUES ('thumbnail', 'thumbs', '-thumbnail.webp'), ('preview', 'thumbs', '-preview.jpeg'),
  ('encoded_video', 'encoded-video', '.mp4'), ('sidecar', '', '')) AS f(type, folder, suffix)
WHERE f.type IN ('thumbnail', 'preview') OR (f.type = 'encoded_video' AND s.video) OR (f.type = 'sidecar' AND s.g % 25 = 0);

-- Embeddings for a tenth of the assets, at most 500: HNSW inserts are what makes seeding slow.
INSERT INTO smart_search ("assetId", embedding) SELECT id, ${embedding('g', 0.7)} FROM seed_asset WHERE g % 10 = 3 AND g <= 5000;
INSERT INTO asset_metadata ("assetId", key, value) SELECT id, 'mobile-app', jsonb_build_object('iCloudId', 'ic-' || g, 'note', 'line' || chr(10) || 'two "quoted"') FROM seed_asset WHERE g % 40 = 0;
INSERT INTO asset_ocr ("assetId", x1, y1, x2, y2, x3, y3, x4, y4, "boxScore", "textScore", text)
SELECT id, 0.1, 0.1, 0.5, 0.1, 0.5, 0.2, 0.1, 0.2, 0.98, 0.91, 'Straße "Zur Mühle" 12' FROM seed_asset WHERE g % 100 = 7;
INSERT INTO ocr_search ("assetId", text) SELECT id, 'Straße "Zur Mühle" 12' FROM seed_asset WHERE g % 100 = 7;

-- People: 31 per the three owners (the last one is deleted below), faces on every fourth asset.
INSERT INTO person (id, "ownerId", name, "thumbnailPath", "isHidden", "birthDate", "isFavorite", color, "createdAt", "updatedAt")
SELECT md5('person:' || p)::uuid, u.id,
  CASE p % 6 WHEN 0 THEN '' WHEN 1 THEN 'Ana O''Brien ' || p WHEN 2 THEN 'Zoë "Zo" Müller ' || p WHEN 3 THEN 'Oma 👵 ' || p WHEN 4 THEN 'Back\\slash ' || p ELSE 'Person ' || p END,
  '/data/thumbs/' || u.id || '/' || substr(md5('person:' || p), 1, 2) || '/' || substr(md5('person:' || p), 3, 2) || '/' || md5('person:' || p)::uuid || '.jpeg',
  p % 9 = 8, CASE WHEN p % 4 = 0 THEN date '1950-01-01' + p * 400 END, p % 5 = 0,
  (ARRAY['blue', 'red', NULL])[p % 3 + 1], timestamptz '2024-02-01 00:00+00', timestamptz '2024-02-01 00:00+00'
FROM generate_series(0, 30) AS p JOIN seed_user u ON u.n = p % 3;
INSERT INTO asset_face (id, "assetId", "personId", "imageWidth", "imageHeight", "boundingBoxX1", "boundingBoxY1",
  "boundingBoxX2", "boundingBoxY2", "sourceType", "isVisible", "updatedAt")
SELECT md5('face:' || g)::uuid, id, CASE WHEN g % 24 <> 0 THEN md5('person:' || (3 * ((g / 4) % 10) + owner_n))::uuid END,
  4032, 3024, 100 + g % 900, 200 + g % 700, 600 + g % 900, 900 + g % 700,
  (CASE WHEN g % 40 = 0 THEN 'exif' ELSE 'machine-learning' END)::sourcetype, g % 200 <> 0, created + interval '1 day'
FROM seed_asset WHERE g % 4 = 0 AND NOT video;
INSERT INTO face_search ("faceId", embedding) SELECT md5('face:' || g)::uuid, ${embedding('g', 0.3)} FROM seed_asset WHERE g % 20 = 4 AND g <= 5000;
UPDATE person SET "faceAssetId" = (SELECT f.id FROM asset_face f WHERE f."personId" = person.id ORDER BY f.id LIMIT 1);

-- Albums: seven per owner, every other asset in one of its owner's; the first holds the search_path line.
INSERT INTO album (id, "ownerId", "albumName", description, "createdAt", "updatedAt", "isActivityEnabled", "order", "deletedAt")
SELECT md5('album:' || k)::uuid, u.id,
  CASE k WHEN 1 THEN 'Sommer 2024 ☀️' WHEN 2 THEN 'Ana''s "Best" \\ Album' ELSE 'Album ' || k || ' – Ferien' END,
  CASE k WHEN 1 THEN ${searchPathText} WHEN 2 THEN ${awkwardText} ELSE '' END,
  timestamptz '2024-03-01 00:00+00' + k * interval '1 day', timestamptz '2024-03-01 00:00+00' + k * interval '1 day',
  k % 4 <> 0, CASE WHEN k % 2 = 0 THEN 'asc' ELSE 'desc' END, CASE WHEN k = 21 THEN timestamptz '2024-07-01 00:00+00' END
FROM generate_series(1, 21) AS k JOIN seed_user u ON u.n = (k - 1) % 3;
INSERT INTO album_asset ("albumId", "assetId", "createdAt")
SELECT md5('album:' || (1 + owner_n + 3 * ((g / 2) % 7)))::uuid, id, created + interval '3 days' FROM seed_asset WHERE g % 2 = 0;
UPDATE album SET "albumThumbnailAssetId" = (SELECT "assetId" FROM album_asset WHERE "albumId" = album.id ORDER BY "assetId" LIMIT 1);
INSERT INTO album_user ("albumId", "userId", role) VALUES
  (md5('album:1')::uuid, '3f1c9a7e-1111-4222-8333-444455556666', 'editor'),
  (md5('album:1')::uuid, md5('user:kid')::uuid, 'viewer'),
  (md5('album:2')::uuid, md5('user:admin')::uuid, 'viewer'),
  (md5('album:4')::uuid, md5('user:kid')::uuid, 'viewer');
-- Activity in the shared album: a comment and a like on its thumbnail, a comment on the album.
INSERT INTO activity ("albumId", "userId", "assetId", comment, "isLiked", "createdAt")
SELECT album.id, v."userId", CASE WHEN v."onAsset" THEN album."albumThumbnailAssetId" END, v.comment, v."isLiked", v."createdAt"
FROM album CROSS JOIN (VALUES
  ('3f1c9a7e-1111-4222-8333-444455556666'::uuid, true, ${awkwardText}, false, timestamptz '2024-03-05 10:00+00'),
  (md5('user:kid')::uuid, true, NULL, true, timestamptz '2024-03-05 11:00+00'),
  (md5('user:admin')::uuid, false, 'Wie schön! 😍', false, timestamptz '2024-03-05 12:00+00')) AS v("userId", "onAsset", comment, "isLiked", "createdAt")
WHERE album.id = md5('album:1')::uuid;

-- Tags: a hierarchy with its closure (every tag is its own ancestor, as Immich stores it).
INSERT INTO tag (id, "userId", value, "parentId", color, "createdAt", "updatedAt")
SELECT md5('tag:' || v.value || ':' || u.id)::uuid, u.id, v.value,
  CASE WHEN v.parent IS NOT NULL THEN md5('tag:' || v.parent || ':' || u.id)::uuid END, v.color,
  timestamptz '2024-04-01 00:00+00', timestamptz '2024-04-01 00:00+00'
FROM (VALUES (0, 'Holiday', NULL, '#ff8800'), (0, 'Holiday/Italy 🇮🇹', 'Holiday', NULL), (0, 'Holiday/Italy 🇮🇹/Rome', 'Holiday/Italy 🇮🇹', NULL),
  (0, 'Family', NULL, NULL), (0, 'Family/Kids', 'Family', '#00ff00'), (0, 'Quote''s "tag" \\ slash', NULL, NULL),
  (1, 'Holiday', NULL, NULL)) AS v(n, value, parent, color) JOIN seed_user u ON u.n = v.n
ORDER BY length(v.value);
WITH RECURSIVE closure(ancestor, descendant) AS (
  SELECT id, id FROM tag
  UNION SELECT t."parentId", c.descendant FROM closure c JOIN tag t ON t.id = c.ancestor WHERE t."parentId" IS NOT NULL)
INSERT INTO tag_closure (id_ancestor, id_descendant) SELECT ancestor, descendant FROM closure;
INSERT INTO tag_asset ("assetId", "tagId")
SELECT id, md5('tag:' || CASE WHEN g % 7 = 0 THEN 'Holiday/Italy 🇮🇹/Rome' ELSE 'Family/Kids' END || ':' || owner)::uuid
FROM seed_asset WHERE owner_n = 0 AND (g % 7 = 0 OR g % 11 = 0);

INSERT INTO memory (id, "ownerId", type, data, "memoryAt", "showAt", "hideAt", "isSaved", "seenAt", "createdAt", "updatedAt")
SELECT md5('memory:' || m)::uuid, md5('user:admin')::uuid, 'on_this_day', jsonb_build_object('year', 2020 + m),
  timestamptz '2024-06-01 00:00+00' + m * interval '1 day', timestamptz '2025-06-01 00:00+00' + m * interval '1 day',
  timestamptz '2025-06-02 00:00+00' + m * interval '1 day', m = 1, CASE WHEN m = 2 THEN timestamptz '2025-06-03 08:00+00' END,
  timestamptz '2025-06-01 00:00+00', timestamptz '2025-06-01 00:00+00'
FROM generate_series(1, 5) AS m;
INSERT INTO memory_asset ("memoriesId", "assetId")
SELECT md5('memory:' || (1 + g % 5))::uuid, id FROM seed_asset WHERE owner_n = 0 AND g % 13 = 0 AND g <= 400;

INSERT INTO shared_link (id, description, "userId", key, type, "createdAt", "expiresAt", "allowUpload", "albumId",
  "allowDownload", "showExif", password, slug) VALUES
  (md5('link:1')::uuid, NULL, md5('user:admin')::uuid, sha256('link:1'), 'INDIVIDUAL', timestamptz '2024-05-01 00:00+00', NULL, false, NULL, true, true, NULL, NULL),
  (md5('link:2')::uuid, ${awkwardText}, md5('user:admin')::uuid, sha256('link:2'), 'ALBUM', timestamptz '2024-05-02 00:00+00', timestamptz '2030-01-01 00:00+00', true, md5('album:1')::uuid, false, false, 'secret "pass"', 'sommer-2024'),
  (md5('link:3')::uuid, 'Für Oma', '3f1c9a7e-1111-4222-8333-444455556666', sha256('link:3'), 'INDIVIDUAL', timestamptz '2024-05-03 00:00+00', NULL, false, NULL, true, true, NULL, NULL);
INSERT INTO shared_link_asset ("assetId", "sharedLinkId")
SELECT id, CASE WHEN owner_n = 0 THEN md5('link:1')::uuid ELSE md5('link:3')::uuid END FROM seed_asset WHERE owner_n IN (0, 1) AND g % 19 = 0 AND g <= 600;

INSERT INTO partner ("sharedById", "sharedWithId", "inTimeline") VALUES (md5('user:admin')::uuid, '3f1c9a7e-1111-4222-8333-444455556666', true);
INSERT INTO session (id, token, "userId", "deviceType", "deviceOS", "appVersion", "expiresAt")
VALUES (md5('session:1')::uuid, sha256('session:1'), md5('user:admin')::uuid, 'iOS', 'iOS 18.5', '2.7.5', NULL),
       (md5('session:2')::uuid, sha256('session:2'), md5('user:kid')::uuid, 'Chrome', 'Linux', NULL, timestamptz '2030-01-01 00:00+00');
INSERT INTO api_key (id, name, key, "userId", permissions) VALUES (md5('api-key:1')::uuid, 'Backup script 🔑', sha256('api-key:1'), md5('user:admin')::uuid, ARRAY['all']);
INSERT INTO user_metadata ("userId", key, value) VALUES
  (md5('user:admin')::uuid, 'preferences', '{"folders": {"enabled": true}, "download": {"archiveSize": 4294967296}, "note": "quote \\" and newline \\n and 📷"}'),
  (md5('user:admin')::uuid, 'onboarding', '{"isOnboarded": true}');
INSERT INTO notification ("userId", level, type, title, description, data, "readAt") VALUES
  (md5('user:admin')::uuid, 'error', 'JobFailed', 'Job failed: thumbnail generation', ${awkwardText}, '{"jobId": "thumbnail", "assetCount": 3}', NULL),
  (NULL, 'info', 'SystemMessage', 'Server upgraded to v2.7.5', NULL, NULL, timestamptz '2026-04-14 08:00+00');
INSERT INTO move_history ("entityId", "pathType", "oldPath", "newPath")
VALUES (md5('asset:12')::uuid, 'original', '/data/upload/' || md5('user:admin')::uuid || '/ab/cd/IMG_0012.jpg', '/data/library/admin/2024/2024-01-01/IMG_0012.jpg');
INSERT INTO system_metadata (key, value) VALUES
  ('system-config', '{"storageTemplate": {"enabled": true, "template": "{{y}}/{{y}}-{{MM}}-{{dd}}/{{filename}}"}, "backup": {"database": {"enabled": true, "cronExpression": "0 02 * * *", "keepLastAmount": 14}}}'),
  ('reverse-geocoding-state', '{"lastUpdate": "2026-04-13T00:00:00.000Z", "lastImportFileName": "cities500.txt"}'),
  ('version-check-state', '{"checkedAt": "2026-04-14T08:00:00.000Z", "releaseVersion": "v2.7.5"}');
INSERT INTO version_history (version, "createdAt") VALUES ('v2.6.3', timestamptz '2026-02-01 00:00+00'), ('v2.7.5', timestamptz '2026-04-14 08:00+00');
INSERT INTO geodata_places (id, name, longitude, latitude, "countryCode", "admin1Code", "admin2Code", "modificationDate", "admin1Name", "admin2Name", "alternateNames") VALUES
  (2867714, 'München', 11.57549, 48.13743, 'DE', '02', '091', date '2024-01-01', 'Bavaria', 'Upper Bavaria', 'Munich,Monaco di Baviera,Мюнхен'),
  (3448439, 'São Paulo', -46.63611, -23.5475, 'BR', '27', '3550308', date '2024-01-01', 'São Paulo', NULL, 'Sao Paulo,Сан-Паулу'),
  (2657896, 'Zürich', 8.55, 47.36667, 'CH', 'ZH', '112', date '2024-01-01', 'Zurich', 'Bezirk Zürich', NULL);
INSERT INTO naturalearth_countries (admin, admin_a3, type, coordinates) VALUES
  ('Germany', 'DEU', 'Sovereign country', '((5.9,47.3),(15.0,47.3),(15.0,55.1),(5.9,55.1))'),
  ('Iceland', 'ISL', 'Sovereign country', '((-24.5,63.3),(-13.5,63.3),(-13.5,66.6),(-24.5,66.6))');
INSERT INTO audit ("entityType", "entityId", action, "ownerId", "createdAt")
SELECT 'ASSET', md5('asset:old:' || k)::uuid, 'DELETE', md5('user:admin')::uuid, timestamptz '2023-06-01 00:00+00' + k * interval '1 hour' FROM generate_series(1, 3) AS k;

-- What Immich deletes leaves audit rows behind (its delete triggers): two assets, a person, a
-- share and a memory.
DELETE FROM asset WHERE id IN (md5('asset:${total - 1}')::uuid, md5('asset:${total}')::uuid);
DELETE FROM person WHERE id = md5('person:30')::uuid;
DELETE FROM album_user WHERE "albumId" = md5('album:4')::uuid;
DELETE FROM memory WHERE id = md5('memory:5')::uuid;
ANALYZE;
`;
}

/** Every 150th asset (from the first) is in the external library (an owner-0 image, see above). */
function external(g: number): boolean {
  return g % 150 === 1;
}

function externalPath(g: number): string {
  return `/mnt/external/Photos 2019/Trip ${g}/DSC_${g}.JPG`;
}
