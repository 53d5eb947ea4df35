/**
 * `npm run token -- --user 42 [--scope wallet:topup]` prints a JWT the development issuer of `npm start`
 * accepts (signed with the key in AUTH_DEV_ISSUER_DIR, .data/identity by default). With `--count N` it prints
 * `[[userId, jwt], ...]` for N users from --user on, the form the k6 booking-flow script takes as USERS.
 */
import {
  DEV_ISSUER_DIR,
  localIssuer,
  numberFlag,
  parseCommandLine,
  runMain,
  UsageError,
  type CommandLine,
} from '@concert-booking/lib';

const COMMAND: CommandLine<{
  user: { type: 'string' };
  scope: { type: 'string'; multiple: true };
  count: { type: 'string'; default: string };
  'ttl-seconds': { type: 'string'; default: string };
  dir: { type: 'string' };
}> = {
  name: 'npm run token --',
  usage: `--user 42 [--scope wallet:topup]... [--count 1] [--ttl-seconds 3600] [--dir $AUTH_DEV_ISSUER_DIR or ${DEV_ISSUER_DIR}]
  Prints a bearer token of the development issuer for the user (with --count N, a JSON list of N users' tokens).`,
  options: {
    user: { type: 'string' },
    scope: { type: 'string', multiple: true },
    count: { type: 'string', default: '1' },
    'ttl-seconds': { type: 'string', default: '3600' },
    dir: { type: 'string' },
  },
};

/** Most users one --count prints: enough for any local load run, small enough for a command line. */
const MAX_COUNT = 10_000;

runMain(COMMAND, async () => {
  const { values } = parseCommandLine(COMMAND, process.argv.slice(2));
  if (values.user === undefined) throw new UsageError('--user is required');
  const user = numberFlag('user', values.user, { integer: true, max: 1e14 });
  const count = numberFlag('count', values.count, { integer: true, max: MAX_COUNT });
  const ttlSeconds = numberFlag('ttl-seconds', values['ttl-seconds'], { integer: true, max: 30 * 86_400 });
  const issuer = localIssuer(values.dir ?? process.env.AUTH_DEV_ISSUER_DIR ?? DEV_ISSUER_DIR);
  const scopes = values.scope ?? [];
  if (count === 1) {
    process.stdout.write(`${await issuer.sign(user, { scopes, ttlSeconds })}\n`);
    return;
  }
  const users = Array.from({ length: count }, (_, i) => user + i);
  const tokens = await Promise.all(
    users.map(async (id) => [id, await issuer.sign(id, { scopes, ttlSeconds })]),
  );
  process.stdout.write(`${JSON.stringify(tokens)}\n`);
});
