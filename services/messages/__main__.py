import asyncio

from services.messages.server import main

asyncio.run(main())
