#!/usr/bin/env node
// Runs the TypeScript CLI straight from source: tsx compiles on import, so nobody runs a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../runner/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
