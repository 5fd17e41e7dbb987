// Package interop calls the Python services over gRPC with the generated Go
// stubs, as a client (or a reimplementation) in another language would: sign
// up, log in, follow, post, read the home timeline, search, and decode the
// google.rpc.BadRequest of an invalid request.
//
// The services' addresses come from USERS_ADDR, TWEETS_ADDR, TIMELINE_ADDR and
// SEARCH_ADDR (host:port); tests/interop/test_interop.py passes the running
// stack's.
package interop

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	searchv1 "github.com/twitter-mesh/twitter-mesh/generated/go/twitter/search/v1"
	timelinev1 "github.com/twitter-mesh/twitter-mesh/generated/go/twitter/timeline/v1"
	tweetsv1 "github.com/twitter-mesh/twitter-mesh/generated/go/twitter/tweets/v1"
	usersv1 "github.com/twitter-mesh/twitter-mesh/generated/go/twitter/users/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const password = "correct horse battery"

func dial(t *testing.T, variable string) *grpc.ClientConn {
	t.Helper()
	addr := os.Getenv(variable)
	if addr == "" {
		t.Fatalf("%s is not set (host:port of the service)", variable)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func unique(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}

// account signs up and logs in; it returns the user id and a context that
// carries the access token.
func account(ctx context.Context, t *testing.T, users usersv1.UserServiceClient,
	auth usersv1.AuthServiceClient) (int64, context.Context) {
	t.Helper()
	name := unique(t, "go")
	created, err := users.CreateUser(ctx, &usersv1.CreateUserRequest{
		Username: name, Email: name + "@example.com", Password: password})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	login, err := auth.Login(ctx, &usersv1.LoginRequest{Username: name, Password: password})
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if login.UserId != created.User.UserId || login.AccessToken == "" {
		t.Fatalf("Login answered %v for user %d", login, created.User.UserId)
	}
	return created.User.UserId, metadata.AppendToOutgoingContext(
		ctx, "authorization", "Bearer "+login.AccessToken)
}

// eventually retries check until it returns true (events are asynchronous).
func eventually(t *testing.T, what string, check func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := check()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30s (last error: %v)", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestSignUpFollowPostReadSearch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	usersConn := dial(t, "USERS_ADDR")
	users := usersv1.NewUserServiceClient(usersConn)
	auth := usersv1.NewAuthServiceClient(usersConn)
	tweets := tweetsv1.NewTweetServiceClient(dial(t, "TWEETS_ADDR"))
	timeline := timelinev1.NewTimelineServiceClient(dial(t, "TIMELINE_ADDR"))
	search := searchv1.NewSearchServiceClient(dial(t, "SEARCH_ADDR"))

	author, asAuthor := account(ctx, t, users, auth)
	reader, asReader := account(ctx, t, users, auth)
	if _, err := users.FollowUser(asReader, &usersv1.FollowUserRequest{
		UserId: reader, TargetUserId: author}); err != nil {
		t.Fatalf("FollowUser: %v", err)
	}
	word := unique(t, "interop")
	posted, err := tweets.CreateTweet(asAuthor, &tweetsv1.CreateTweetRequest{
		Content: "hello from Go " + word})
	if err != nil {
		t.Fatalf("CreateTweet: %v", err)
	}
	id := posted.Tweet.TweetId
	if posted.Tweet.UserId != author {
		t.Fatalf("the tweet's author is %d, want %d", posted.Tweet.UserId, author)
	}

	eventually(t, "the tweet on the reader's home timeline", func() (bool, error) {
		page, err := timeline.GetHomeTimeline(asReader, &timelinev1.GetHomeTimelineRequest{
			UserId: reader, PageSize: 20})
		if err != nil {
			return false, err
		}
		for _, entry := range page.Entries {
			if entry.Tweet.GetTweetId() == id {
				return true, nil
			}
		}
		return false, nil
	})
	eventually(t, "the tweet found by search", func() (bool, error) {
		found, err := search.SearchTweets(asReader, &searchv1.SearchTweetsRequest{Q: word})
		if err != nil {
			return false, err
		}
		for _, tweet := range found.Tweets {
			if tweet.TweetId == id {
				return true, nil
			}
		}
		return false, nil
	})
}

func TestInvalidRequestCarriesBadRequest(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	users := usersv1.NewUserServiceClient(dial(t, "USERS_ADDR"))
	_, err := users.CreateUser(ctx, &usersv1.CreateUserRequest{
		Username: "not a valid name!", Email: "nobody@example.com", Password: password})
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("CreateUser with a bad username: %v, want INVALID_ARGUMENT", err)
	}
	for _, detail := range st.Details() {
		if bad, ok := detail.(*errdetails.BadRequest); ok {
			for _, v := range bad.FieldViolations {
				if v.Field == "username" && v.Description != "" {
					return
				}
			}
			t.Fatalf("BadRequest without a username violation: %v", bad)
		}
	}
	t.Fatalf("no google.rpc.BadRequest in the details: %v", st.Details())
}
