import asyncio

from services.users.server import main

asyncio.run(main())
