import asyncio

from services.tweets.server import main

asyncio.run(main())
