"""The diswot service: search jobs over HTTP, stored in SQL, run by a worker pool (`create_app`, `diswot serve`)."""
