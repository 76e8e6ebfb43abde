import { laneSchema, prepaidTokenSchema } from "@tollgate/shared";
import { z } from "zod";

/** Most records one report reads, by default (`createAdminApi`'s `maxRecords`). */
export const defaultMaxReportRecords = 100_000;

/** The latest instant a `Date` holds (ECMAScript's time range, ±8.64e15 ms): a later window end is refused. */
const latestInstantMs = 8_640_000_000_000_000;

/** `GET /stats` and `GET /report`: the window (Unix milliseconds; `until` exclusive) and the format. */

export const reportQuerySchema = z
  .object({
    since: z.coerce.number().int().min(0).max(latestInstantMs).optional(),
    until: z.coerce.number().int().min(0).max(latestInstantMs).optional(),
    format: z.enum(["json", "markdown"]).optional(),
  })
  .strict();

/** `GET /settlements/pending`: how many claims to list. */
export const pendingQuerySchema = z
  .object({ limit: z.coerce.number().int().min(1).max(1_000).default(100) })
  .strict();

/** `POST /tokens/lookup` and `POST /tokens/revoke`: the token itself, or the SHA-256 (hex) the store keeps. */
export const tokenQuerySchema = z.union([
  z.object({ token: prepaidTokenSchema }).strict(),
  z.object({ tokenHash: z.string().regex(/^[0-9a-f]{64}$/, "expected a SHA-256 in lowercase hex") }).strict(),
]);

/** `POST /switches`: lanes and facilitators to turn on (`true`) or off (`false`); the others stay as they are. */
export const switchesBodySchema = z
  .object({
    lanes: z.partialRecord(laneSchema, z.boolean()).optional(),
    facilitators: z
      .record(z.string().min(1).max(200), z.boolean())
      .refine((value) => Object.keys(value).length <= 100, "at most 100 facilitators")
      .optional(),
  })
  .strict();
