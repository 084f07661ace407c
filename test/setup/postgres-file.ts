import { afterAll } from 'vitest';
import { dropReusableDatabases } from '../helpers/postgres.ts';

// Per test file (vitest setupFiles of main-pg): the databases its tests emptied for reuse go
// once the file is done, so a server of your own (FANOUT_TEST_POSTGRES_URL) keeps none of them.
afterAll(dropReusableDatabases);
