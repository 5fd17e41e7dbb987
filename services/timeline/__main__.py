from services.shared.concurrency import event_loop
from services.timeline.server import main

event_loop.run(main)
