/** Defaults every runtime verb shares; its own module so registering the verbs loads nothing else. */

/** The key prefix of Runway's state and queues when `--prefix` is not given. */
export const DEFAULT_PREFIX = '{runway}';
