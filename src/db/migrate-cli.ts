import { loadConfig } from '../config.ts';
import { closeDatabase, openDatabase } from './sqlite/client.ts';
import { runMigrations } from './sqlite/migrate.ts';

// `npm run db:migrate`: apply migrations to DATABASE_PATH without starting the service.
const config = loadConfig(process.env);
const db = openDatabase(config.databasePath);
runMigrations(db);
closeDatabase(db);
console.log(`migrations applied to ${config.databasePath}`);
