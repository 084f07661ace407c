import { loadConfig } from '../config.ts';
import { describeDatabase, openStore } from '../store/open.ts';

// `npm run db:migrate`: apply migrations to the configured database (PostgreSQL when DATABASE_URL
// is set, else the SQLite file at DATABASE_PATH) without starting the service.
const config = loadConfig(process.env);
const store = await openStore(config.database, { recurrenceLeadMs: config.recurrence.leadMs });
await store.close();
console.log(`migrations applied to ${store.backend} ${describeDatabase(config.database)}`);
