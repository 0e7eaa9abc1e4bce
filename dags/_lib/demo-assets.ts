/** The assets the demo DAGs share: the producer lists them in `outlets`, the consumer runs on them. */
import { s3PrefixAsset } from 'runway';
import type { QuiescenceEventExtra } from 'runway/operators';

/** Where the demo's Firehose-like deliveries land, one `dt=…/slot=…/` partition per producer run. */
export const landedEvents = s3PrefixAsset<QuiescenceEventExtra>({ bucket: 'runway-demo', prefix: 'landed-events/' });
