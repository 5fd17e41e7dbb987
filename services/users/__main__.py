from services.shared.concurrency import event_loop
from services.users.server import main

event_loop.run(main)
