// The TypeScript interop test: the generated ts-proto stubs over @grpc/grpc-js
// against the running stack, as a Node client would call it: sign up, log in,
// follow, post, read the home timeline, search, and decode the
// google.rpc.BadRequest of an invalid request. Addresses come from USERS_ADDR,
// TWEETS_ADDR, TIMELINE_ADDR and SEARCH_ADDR (tests/interop/test_interop.py).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { type CallOptions, credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { BadRequest } from "../../../generated/ts/google/rpc/error_details";
import { Status } from "../../../generated/ts/google/rpc/status";
import { SearchServiceClient } from "../../../generated/ts/twitter/search/v1/search";
import { TimelineServiceClient } from "../../../generated/ts/twitter/timeline/v1/timeline";
import { TweetServiceClient } from "../../../generated/ts/twitter/tweets/v1/tweets";
import { AuthServiceClient, UserServiceClient } from "../../../generated/ts/twitter/users/v1/users";

const PASSWORD = "correct horse battery";

function address(variable: string): string {
  const value = process.env[variable];
  if (!value) throw new Error(`${variable} is not set (host:port of the service)`);
  return value;
}

// A unary call of a generated client as a promise (typed by the method's last
// overload: request, metadata, options, callback).
type Unary<Req, Res> = (req: Req, md: Metadata, options: Partial<CallOptions>,
  cb: (err: ServiceError | null, res: Res) => void) => unknown;

function call<Req, Res>(method: Unary<Req, Res>, client: object, request: Req,
  md: Metadata = new Metadata()): Promise<Res> {
  return new Promise((resolve, reject) =>
    method.call(client, request, md, {}, (err, res) => (err ? reject(err) : resolve(res))));
}

async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within 30s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const insecure = credentials.createInsecure();
const users = new UserServiceClient(address("USERS_ADDR"), insecure);
const auth = new AuthServiceClient(address("USERS_ADDR"), insecure);
const tweets = new TweetServiceClient(address("TWEETS_ADDR"), insecure);
const timeline = new TimelineServiceClient(address("TIMELINE_ADDR"), insecure);
const search = new SearchServiceClient(address("SEARCH_ADDR"), insecure);

async function account(): Promise<{ id: string; md: Metadata }> {
  const name = `ts${randomBytes(6).toString("hex")}`;
  const created = await call(users.createUser, users, {
    username: name, email: `${name}@example.com`, password: PASSWORD, displayName: "" });
  const login = await call(auth.login, auth, { username: name, password: PASSWORD });
  assert.equal(login.userId, created.user?.userId);
  const md = new Metadata();
  md.set("authorization", `Bearer ${login.accessToken}`);
  return { id: login.userId, md };
}

async function signUpFollowPostReadSearch(): Promise<void> {
  const author = await account();
  const reader = await account();
  await call(users.followUser, users, { userId: reader.id, targetUserId: author.id }, reader.md);
  const word = `interop${randomBytes(6).toString("hex")}`;
  const posted = await call(tweets.createTweet, tweets,
    { content: `hello from TypeScript ${word}`, mediaIds: [], replyToTweetId: "0", place: "",
      quotedTweetId: "0", poll: undefined },
    author.md);
  const id = posted.tweet?.tweetId;
  assert.equal(posted.tweet?.userId, author.id);
  await eventually("the tweet on the reader's home timeline", async () => {
    const page = await call(timeline.getHomeTimeline, timeline,
      { userId: reader.id, pageSize: 20, pageToken: "" }, reader.md);
    return page.entries.some((e) => e.tweet?.tweetId === id);
  });
  await eventually("the tweet found by search", async () => {
    const found = await call(search.searchTweets, search,
      { q: word, pageSize: 0, pageToken: "" }, reader.md);
    return found.tweets.some((t) => t.tweetId === id);
  });
}

async function invalidRequestCarriesBadRequest(): Promise<void> {
  const err = await call(users.createUser, users, {
    username: "not a valid name!", email: "nobody@example.com", password: PASSWORD,
    displayName: "" }).then(() => null, (e: ServiceError) => e);
  assert.ok(err, "CreateUser with a bad username succeeded");
  assert.equal(err.code, status.INVALID_ARGUMENT);
  const [raw] = err.metadata.get("grpc-status-details-bin");
  assert.ok(raw instanceof Buffer, "no grpc-status-details-bin");
  const details = Status.decode(raw).details;
  const bad = details.find((d) => d.typeUrl === "type.googleapis.com/google.rpc.BadRequest");
  assert.ok(bad, `no google.rpc.BadRequest in ${details.map((d) => d.typeUrl)}`);
  const violations = BadRequest.decode(bad.value).fieldViolations;
  assert.ok(violations.some((v) => v.field === "username" && v.description !== ""));
}

async function main(): Promise<void> {
  for (const test of [signUpFollowPostReadSearch, invalidRequestCarriesBadRequest]) {
    await test();
    console.log(`ok ${test.name}`);
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
