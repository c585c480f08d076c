"""What tests share: start the app, sign in, post webhooks, wait for workers, drive a browser."""
