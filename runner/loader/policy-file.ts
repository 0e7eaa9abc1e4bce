/** Where the team policy lives; its own module so the CLI can name it without loading zod. */
export const DEFAULT_POLICY_FILE = 'runway.policy.json';
