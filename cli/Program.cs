// Placeholder entry point; the CLI is built in cli/ by the models and training work.
return 0;
