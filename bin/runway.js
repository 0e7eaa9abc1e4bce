#!/usr/bin/env node
// Runs the TypeScript CLI straight from source: tsx compiles on import, so nobody runs a build step.
import { register } from 'tsx/esm/api';

// On Node 20 the AWS SDK prints a nine-line NodeVersionSupportWarning on every verb that touches AWS.
// The lockfile pins SDK releases that run on 20 and the README gives the Node support plan, so the
// warning only buries what the user asked for. This is the SDK's own switch; a setting of yours wins.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

register();
const { main } = await import('../runner/cli/main.ts');
const argv = process.argv.slice(2);
const code = await main(argv);
// A service has closed what it opened, in order, by the time main returns: a handle a library left
// open must not keep the process (and the terminal) waiting for the forced exit at 30 s.
if (['standalone', 'scheduler', 'worker', 'webserver'].includes(argv[0])) process.exit(code);
process.exitCode = code;
