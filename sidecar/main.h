/* eventlogd entry point: start-up, signals, periodic work, drain and shutdown. */
#ifndef EV_MAIN_H
#define EV_MAIN_H

int			main(int argc, char **argv);

#endif
