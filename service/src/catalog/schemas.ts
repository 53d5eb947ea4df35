import { z } from 'zod';
import { idParam } from '../http/routes.js';

export const concertSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  artist: z.string(),
  venue: z.string(),
});

export const concertListSchema = z.object({
  items: z.array(concertSchema),
  /** Pass as `after` to get the next page; null on the last page. */
  nextCursor: z.number().int().nullable(),
});

export const concertListQuery = z.object({
  // Coerced numbers, so the published schema states the range validation enforces (an integer 1..100).
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
});

export const timeslotListSchema = z.object({
  concertId: z.number().int(),
  items: z.array(
    z.object({
      id: z.number().int(),
      concertId: z.number().int(),
      startsAt: z.iso.datetime(),
      totalSeats: z.number().int(),
      availableSeats: z.number().int(),
    }),
  ),
});

export const seatStatus = z.enum(['AVAILABLE', 'HELD', 'SOLD']);

export const seatMapSchema = z.object({
  timeslotId: z.number().int(),
  concertId: z.number().int(),
  startsAt: z.iso.datetime(),
  seats: z.array(
    z.object({
      id: z.number().int(),
      number: z.number().int(),
      grade: z.enum(['VIP', 'R', 'S', 'A']),
      price: z.number().int(),
      status: seatStatus,
    }),
  ),
});

export const concertIdParams = z.object({ concertId: idParam });
export const timeslotIdParams = z.object({ timeslotId: idParam });
