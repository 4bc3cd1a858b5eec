"""The certification body's side: build, sign and record CAiEP® charter credentials."""
