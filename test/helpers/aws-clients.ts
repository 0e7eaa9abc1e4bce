/** AWS clients for tests: real SDK clients (mocked per test with aws-sdk-client-mock, or pointed at s3rver). */
import { GlueClient } from '@aws-sdk/client-glue';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { S3Client } from '@aws-sdk/client-s3';

const credentials = { accessKeyId: 'AKIATEST', secretAccessKey: 'test-secret' };

export function testAwsClients(overrides: Partial<{ s3: S3Client }> = {}): {
  s3: S3Client;
  redshiftData: RedshiftDataClient;
  glue: GlueClient;
} {
  return {
    s3: overrides.s3 ?? new S3Client({ region: 'eu-west-1', credentials }),
    redshiftData: new RedshiftDataClient({ region: 'eu-west-1', credentials }),
    glue: new GlueClient({ region: 'eu-west-1', credentials }),
  };
}
