from services.shared.concurrency import event_loop
from services.tweets.server import main

event_loop.run(main)
