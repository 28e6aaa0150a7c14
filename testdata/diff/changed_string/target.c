/* The rest of the target (vmlinux) as far as the case needs it: non-exported symbols it defines. */
char *saved_command_line;
