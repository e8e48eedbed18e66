// Placeholder entry point; benchmarks are added under bench/.
return 0;
