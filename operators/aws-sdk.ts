/**
 * The AWS SDK's command classes, loaded when a task first talks to AWS rather than when a DAG file
 * is imported: `validate` and `dags list` import every DAG file in a fresh child, and the three SDK
 * clients were most of each import's time (0.25 s of CPU). Node caches the module after the first
 * call, so a task pays for this once per process.
 */
export const glueSdk = () => import('@aws-sdk/client-glue');
export const s3Sdk = () => import('@aws-sdk/client-s3');
export const redshiftDataSdk = () => import('@aws-sdk/client-redshift-data');
/** Runway's S3 sync, which loads the S3 client and its multipart upload. */
export const s3SyncModule = () => import('../runner/s3/sync.ts');
