/**
 * The property the mirror's S3 destination relies on (issue #5): the test S3
 * server (moto) refuses a PutObject with If-None-Match: * when the key exists,
 * so two writers can never both "succeed" on one segment.
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { s3ClientConfig, startS3Server, type S3Server } from "../src/testing/s3-server";

jest.setTimeout(60_000);

describe("S3 server conditional writes", () => {
  let server: S3Server;
  let s3: S3Client;

  beforeAll(async () => {
    server = await startS3Server();
    s3 = new S3Client(s3ClientConfig(server.endpoint));
    await s3.send(new CreateBucketCommand({ Bucket: "mirror" }));
  });

  afterAll(async () => {
    s3?.destroy();
    await server?.stop();
  });

  it("creates a key once and answers 412 to a second If-None-Match: * write", async () => {
    const put = (body: string) =>
      s3.send(new PutObjectCommand({ Bucket: "mirror", Key: "t/0/a.ndjson", Body: body, IfNoneMatch: "*" }));
    await put("first");
    await expect(put("second")).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });
    const got = await s3.send(new GetObjectCommand({ Bucket: "mirror", Key: "t/0/a.ndjson" }));
    expect(await got.Body?.transformToString()).toBe("first");
  });
});
